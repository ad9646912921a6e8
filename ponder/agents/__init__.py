"""LLM roles: each module holds one role's prompts and the parsing of its replies."""
