"""The sales ETL Glue job's library, shipped to Glue as sales_etl_lib.zip (--extra-py-files)."""
