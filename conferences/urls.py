from __future__ import annotations

from conferences.api import urls as api_urls
from conferences.dialing import urls as dialing_urls
from conferences.events import urls as event_urls
from conferences.history import urls as history_urls
from conferences.live import urls as live_urls
from conferences.operations import urls as ops_urls

app_name = "conferences"

# Each area keeps its routes in its own module; all share the "conferences" namespace.
urlpatterns = [
    *dialing_urls.urlpatterns,
    *event_urls.urlpatterns,
    *history_urls.urlpatterns,
    *live_urls.urlpatterns,
    *ops_urls.urlpatterns,
    *api_urls.urlpatterns,
]
