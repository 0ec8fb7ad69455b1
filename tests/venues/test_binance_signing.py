"""Request signing against the test vectors of Binance's official documentation."""

from trading_bot.venues.binance import sign, signed_query

# The example key pair of Binance's "SIGNED endpoint examples" (not a real account's).
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
ORDER = [
    ("symbol", "LTCBTC"),
    ("side", "BUY"),
    ("type", "LIMIT"),
    ("timeInForce", "GTC"),
    ("quantity", "1"),
    ("price", "0.1"),
]


def test_hmac_signature_matches_the_documented_example() -> None:
    query = (
        "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1"
        "&recvWindow=5000&timestamp=1499827319559"
    )
    expected = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
    assert sign(query, SECRET) == expected
    assert signed_query(ORDER, SECRET, 1499827319559, 5000) == f"{query}&signature={expected}"


def test_non_ascii_parameters_are_percent_encoded_before_signing() -> None:
    params = [("symbol", "１２３４５６"), *ORDER[1:]]
    query = signed_query(params, SECRET, 1499827319559, 5000)
    assert query.startswith("symbol=%EF%BC%91%EF%BC%92%EF%BC%93%EF%BC%94%EF%BC%95%EF%BC%96&side=")
    assert query.endswith(
        "&signature=e1353ec6b14d888f1164ae9af8228a3dbd508bc82eb867db8ab6046442f33ef3"
    )
