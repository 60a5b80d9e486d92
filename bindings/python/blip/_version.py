"""The binding's own version: the libblip version it was written against.

Read without importing the package (setuptools parses this file for the distribution's
version), so it must stay a plain assignment.
"""

__version__ = "0.1.0"
