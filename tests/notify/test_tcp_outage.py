"""The relay that takes a fake server off the network: down, new connections are refused and
the open ones are cut; up again, the same address works."""

from __future__ import annotations

import asyncio
import contextlib

import aiohttp
import pytest

from trading_bot.testing.fake_discord import FakeDiscord
from trading_bot.testing.tcp_outage import TcpOutage

EMBED = {"embeds": [{"title": "Entry filled: BTC/USDT"}]}


async def test_down_refuses_and_cuts_until_up_on_the_same_port() -> None:
    async with FakeDiscord() as discord, TcpOutage(discord.url) as relay:
        url = discord.webhook_url.replace(discord.url, relay.url)
        port = relay.port
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        async with aiohttp.ClientSession() as session:
            async with session.post(url, json=EMBED) as answer:
                assert answer.status == 204  # relayed

            relay.down()
            with contextlib.suppress(ConnectionResetError):  # cut: reset, or at least ended
                assert await reader.read() == b""
            writer.close()
            with pytest.raises(aiohttp.ClientConnectorError) as refused:
                async with session.post(url, json=EMBED):
                    pass
            assert isinstance(refused.value.os_error, ConnectionRefusedError)

            await relay.up()
            async with session.post(url, json=EMBED) as answer:
                assert answer.status == 204
        assert relay.port == port and relay.outages == 1
        assert len(discord.posts) == 2
