"""Python `websockets` echo server for make bench (its asyncio server, as
its documentation writes an echo): every message sent back as it came.

    python py_echo.py PORT [deflate]

`deflate` keeps websockets' default permessage-deflate (the compression
table); without it compression is off, as on the other servers. The
message limit is raised from 1 MiB to 16 MiB: the largest cell is 1 MiB.
"""

import asyncio
import logging
import sys

from websockets.asyncio.server import serve


async def echo(ws):
    async for message in ws:
        await ws.send(message)


async def main(port, deflate):
    # TCP_NODELAY: asyncio sets it on every TCP socket it creates.
    async with serve(
        echo,
        "127.0.0.1",
        port,
        compression="deflate" if deflate else None,
        max_size=16 << 20,
    ) as server:
        await server.serve_forever()


if __name__ == "__main__":
    # The harness's readiness probe connects and closes without a
    # handshake; websockets logs that as an error.
    logging.disable(logging.CRITICAL)
    asyncio.run(main(int(sys.argv[1]), sys.argv[2:] == ["deflate"]))
