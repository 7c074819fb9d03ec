"""hub_tools: LintSeq edit-sequence code models on the Hugging Face stack.

Importing the package is cheap and has no side effects; the heavy parts (datasets, torch,
transformers) are imported by the sub-packages that need them.
"""

__version__ = "0.1.0"
