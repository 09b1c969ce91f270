"""Which line of a failed `prepare:`/`exec:` command's error output its one-line error
quotes (pure)."""

from __future__ import annotations

from netlab.kernel.services import complaint_line

NFT = """\
r.nft:1:44-48: Error: syntax error, unexpected string
table inet filter { chain x { tcp dport 80 acept } }
                                           ^^^^^
"""


def test_the_line_that_says_error_wins_over_nfts_carets() -> None:
    assert complaint_line(NFT) == "r.nft:1:44-48: Error: syntax error, unexpected string"


def test_otherwise_the_last_line() -> None:
    assert complaint_line("starting\n  no such file: x.conf  \n\n") == "no such file: x.conf"
    assert complaint_line("") == ""
