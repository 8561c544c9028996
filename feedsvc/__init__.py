"""feedsvc: Russian press releases, translated offline into Kazakh and English, published as pages and feeds.

The package root is the library: it imports no framework. The web application is ``feedsvc.web:create_app``.
"""

__version__ = "0.1.0"
