from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from django.utils.translation import gettext_lazy as _
from django.views.i18n import JavaScriptCatalog

# The admin names the product (not "Django administration"), in the
# reader's language.
admin.site.site_header = _("Parley administration")
admin.site.site_title = _("Parley admin")

urlpatterns: list[URLPattern | URLResolver] = [
    path("admin/", admin.site.urls),
    # The translations static/js/i18n.js reads, in the request's language.
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("", include("accounts.urls")),
    # Before messaging's API, whose last route answers 404 for any other path.
    path("api/", include("notifications.api.urls")),
    path("api/", include("messaging.files.api.urls")),
    path("api/", include("messaging.search.api.urls")),
    path("api/", include("messaging.support.api.urls")),
    path("api/", include("messaging.moderation.api.urls")),
    path("api/", include("messaging.integrations.api.urls")),
    path("api/", include("messaging.e2e.api.urls")),
    path("api/", include("messaging.api.urls")),
    path("", include("notifications.urls")),
    path("", include("messaging.files.urls")),
    path("", include("messaging.search.urls")),
    path("", include("messaging.support.urls")),
    path("", include("messaging.integrations.urls")),
    path("", include("messaging.urls")),
]
# Uploaded files are never served from MEDIA_URL: every fetch goes through
# messaging.files' checked endpoints.

# Refused before any view (a Host outside ALLOWED_HOSTS): JSON under /api/.
handler400 = "messaging.api.errors.bad_request"
