"""Finetuning with TRL: recipes, tokenizer set-up, TinyCodeLM initialisation."""
