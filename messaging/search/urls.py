"""The search pages."""

from django.urls import path

from messaging.search import views

urlpatterns = [
    path("search/", views.search_page, name="search"),
]
