"""``python -m hub_tools.hub_test_server``: run the Hub-protocol test server in the foreground."""

from hub_tools.hub_test_server.server import main

raise SystemExit(main())
