"""A document's preview page: its rendered pages, its name, a download."""

from django.contrib.auth.decorators import login_required
from django.http import Http404


@login_required
def preview_page(request, attachment_id):
    raise Http404
