from support.standins import *  # noqa: F401,F403  (temporary while the stand-ins move to tests/support)
from support.standins import api_json, page_slice  # noqa: F401
