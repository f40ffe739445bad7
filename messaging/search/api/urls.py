"""The search API, mounted at ``api/`` before messaging's (whose last route
answers 404 for any other path). docs/api.md describes each endpoint."""

from django.urls import path

from messaging.search.api import views

urlpatterns = [
    path("search/", views.SearchView.as_view(), name="api-search"),
]
