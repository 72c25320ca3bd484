from __future__ import annotations

from django.urls import path

from conferences import history_urls, live_urls, ops_urls, views

app_name = "conferences"

# Each area keeps its routes in its own module; all share the "conferences" namespace.
urlpatterns = [
    path("", views.dial, name="dial"),
    path("dial/", views.dial_submit, name="dial-submit"),
    path("dial/group/<str:key>/", views.dial_group, name="dial-group"),
    path("dial/recent/", views.recent_dials, name="recent-dials"),
    *history_urls.urlpatterns,
    *live_urls.urlpatterns,
    *ops_urls.urlpatterns,
]
