"""`{{ body|markdown }}`: release notes as HTML, through the one renderer."""

from django import template
from django.utils.safestring import SafeString

from releases.markdown import render_markdown

register = template.Library()


@register.filter
def markdown(text: str) -> SafeString:
    return render_markdown(text)
