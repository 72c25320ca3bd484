from __future__ import annotations

from django.urls import path

from conferences import views

app_name = "conferences"

urlpatterns = [
    path("", views.dial, name="dial"),
    path("history/", views.history, name="history"),
    path("conferences/", views.conference_list, name="conference-list"),
]
