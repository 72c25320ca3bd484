from __future__ import annotations

from django.urls import path

from conferences.dialing import views

# Included by conferences/urls.py into the "conferences" namespace.
urlpatterns = [
    path("", views.dial, name="dial"),
    path("dial/", views.dial_submit, name="dial-submit"),
    path("dial/group/<str:key>/", views.dial_group, name="dial-group"),
    path("dial/recent/", views.recent_dials, name="recent-dials"),
    path("dial/<int:dial_id>/redial/", views.redial, name="redial"),
]
