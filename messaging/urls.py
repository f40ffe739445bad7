from django.urls import path

from messaging import views
from messaging.e2e import pages as e2e_pages
from messaging.threads import views as thread_views

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("new/direct/", views.new_direct, name="new_direct"),
    path("new/group/", views.new_group, name="new_group"),
    path("new/support/", views.new_support, name="new_support"),
    path("c/<uuid:conversation_id>/", views.conversation, name="conversation"),
    path("c/<uuid:conversation_id>/members/", views.members, name="members"),
    path("c/<uuid:conversation_id>/members/add/", views.add_members, name="add_members"),
    path("c/<uuid:conversation_id>/members/remove/", views.remove_member, name="remove_member"),
    path("c/<uuid:conversation_id>/rename/", views.rename, name="rename"),
    path("c/<uuid:conversation_id>/archive/", views.archive, name="archive"),
    path("c/<uuid:conversation_id>/put-away/", views.put_away, name="put_away"),
    path("saved/", thread_views.saved, name="saved"),
    path("devices/", e2e_pages.devices, name="e2e_devices"),
]
