"""The builtin offline analyst's parts: column roles, reading a file, the blocks it writes, its summary."""
