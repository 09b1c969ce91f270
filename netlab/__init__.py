"""netlab: a YAML topology turned into a real Linux network lab of namespaces."""

__version__ = "0.1.0"
