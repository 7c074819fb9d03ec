"""Sampling programs from a model: what ``lintseq sample`` and ``lintseq eval`` share.

- :mod:`~hub_tools.inference.local`: ``transformers`` models on this machine (batched, sorted by length);
- :mod:`~hub_tools.inference.server`: any OpenAI-compatible completions server (vLLM, SGLang, TGI,
  ``transformers serve``);
- :mod:`~hub_tools.inference.loading`: finding and loading a model folder or Hub id;
- :mod:`~hub_tools.inference.progress`: the progress bar (a line per minute when not on a terminal).

Both ways give the same :class:`~hub_tools.inference.local.Sample` objects, post-processed alike.
"""
