"""Block until the database answers and its migrations are at this image's head (init container).

Pods of a new release start while the migration job may still be running; waiting here keeps them
out of CrashLoopBackOff. Uses CARELOG_DATABASE_URL (the application role's URL). Gives up after
CARELOG_WAIT_TIMEOUT seconds (default 600) with exit status 1.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time


async def wait(url: str, give_up_after: float, interval: float = 2.0) -> bool:
    from shared.db import create_engine, is_ready

    engine = create_engine(url, pool_size=1)
    deadline = time.monotonic() + give_up_after
    reason = "not checked"
    try:
        while time.monotonic() < deadline:
            ready, reason = await is_ready(engine)
            if ready:
                print("database ready, migrations at head", file=sys.stderr)
                return True
            print(f"waiting: {reason}", file=sys.stderr)
            await asyncio.sleep(interval)
    finally:
        await engine.dispose()
    print(f"gave up after {give_up_after:.0f} s: {reason}", file=sys.stderr)
    return False


def main() -> int:
    url = os.environ.get("CARELOG_DATABASE_URL")
    if not url:
        print("CARELOG_DATABASE_URL is required", file=sys.stderr)
        return 2
    timeout = float(os.environ.get("CARELOG_WAIT_TIMEOUT", "600"))
    return 0 if asyncio.run(wait(url, timeout)) else 1


if __name__ == "__main__":
    sys.exit(main())
