from django.conf import settings
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path

urlpatterns: list[URLPattern | URLResolver] = [
    path("admin/", admin.site.urls),
    path("", include("accounts.urls")),
    # Before messaging's API, whose last route answers every other /api/ path.
    path("api/notifications/", include("notifications.urls")),
    path("api/", include("messaging.api.urls")),
    path("", include("messaging.urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
