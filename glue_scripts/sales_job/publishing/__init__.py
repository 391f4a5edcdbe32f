"""Write-audit-publish of the processed tables: version folders (versions), the catalog's
partitions (catalog), and where a local test may kill a run (fault_points)."""
