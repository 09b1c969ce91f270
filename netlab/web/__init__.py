"""`netlab web`: a live page of running labs, served from the process that reads the kernel.

    auth.py      PURE     the token rules (who may see the page, the API and the terminals)
    address.py   PURE     where the server listens and the URL it prints
    terminal.py  EFFECTS  a node's shell on a pseudo-terminal, and how it ends
    server.py    EFFECTS  the aiohttp application: the page, the API under /api, websockets
    static/      the page (index.html, app.js, app.css) and vendor/ (JavaScript from npm)

aiohttp is an optional extra (`pip install 'netlab[web]'`); nothing outside this package
imports it, and netlab.ui.cmd_web imports this package only when `netlab web` runs.
"""
