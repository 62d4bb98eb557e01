"""paretext: optimize the text inside LLM systems with GEPA."""
