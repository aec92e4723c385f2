"""The letter: the one pipeline from a case to HTML/PDF, its templates, sandbox, assets and PDF/A."""
