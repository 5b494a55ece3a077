"""The form page in the static build: renders theme/templates/form.html to candidater/index.html
from the one form definition (content/data/form.yaml), with the same template the collector uses."""

from .plugin import register

__all__ = ["register"]
