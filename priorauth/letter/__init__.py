"""The letter: the one pipeline from a case to HTML/PDF; templates, sandbox, assets, PDF/A."""
