"""The dataset engine: sources, parallel resumable generation, Parquet output, the datasets builder."""
