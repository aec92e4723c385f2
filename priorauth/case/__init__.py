"""The case: model (pydantic), field types, and parsing with friendly, located problems."""
