"""AWS Glue crawlers: ``StartCrawler`` really lists S3, infers schemas and writes the catalog.

- ``crawler.py``: the patches on moto's ``FakeCrawler`` and ``GlueResponse``, and the crawl.
- ``layout.py``: the objects under a target grouped into tables and partitions.
- ``csv_schema.py``, ``parquet_footer.py``: a CSV file's and a Parquet file's columns.
- ``table_schema.py``: a table's schema inferred from its files.
- ``catalog.py``: the tables and partitions written to the catalog.
"""
