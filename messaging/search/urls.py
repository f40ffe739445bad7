"""The search pages."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
