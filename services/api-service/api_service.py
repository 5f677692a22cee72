"""api-service: a small in-memory items resource under /api.

GET  /api/items           -> 200 {"items": [...]}
POST /api/items           -> 201 {"id", "name", "price"}  (400 on invalid input)
GET  /api/items/{id}      -> 200 item, 404 when unknown
GET  /health, /api/health -> 200 {"status": "ok", ...}
"""

import threading

from service_kit import App, HttpError, Request, Response, run

NAME_MAX_LENGTH = 100
MAX_ITEMS = 10_000  # the store is memory: keep a runaway client from filling it


class ItemStore:
    def __init__(self):
        self._items: dict[int, dict] = {}
        self._next_id = 1
        self._lock = threading.Lock()  # requests run on several threads

    def add(self, name: str, price: float) -> dict:
        with self._lock:
            if len(self._items) >= MAX_ITEMS:
                raise HttpError(507, f"the store holds its maximum of {MAX_ITEMS} items")
            item = {"id": self._next_id, "name": name, "price": price}
            self._items[item["id"]] = item
            self._next_id += 1
            return dict(item)

    def get(self, item_id: int):
        with self._lock:
            item = self._items.get(item_id)
            return dict(item) if item else None

    def all(self) -> list[dict]:
        with self._lock:
            return [dict(item) for item in self._items.values()]


def validate_item(data: dict) -> tuple[str, float]:
    problems = {}
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        problems["name"] = "required, a non-empty string"
    elif len(name) > NAME_MAX_LENGTH:
        problems["name"] = f"at most {NAME_MAX_LENGTH} characters"
    price = data.get("price", 0)
    if isinstance(price, bool) or not isinstance(price, (int, float)) or price < 0:
        problems["price"] = "a number, zero or more"
    unknown = sorted(set(data) - {"name", "price"})
    if unknown:
        problems["unknown fields"] = ", ".join(unknown)
    if problems:
        raise HttpError(400, "invalid item", problems)
    return name.strip(), price


def create_app() -> App:
    app = App.from_env("api-service", default_prefix="/api")
    store = ItemStore()

    @app.route("GET", "/items")
    def list_items(request: Request) -> Response:
        return Response(200, {"items": store.all()})

    @app.route("POST", "/items")
    def create_item(request: Request) -> Response:
        item = store.add(*validate_item(request.json()))
        return Response(201, item, {"Location": f"{app.prefix}/items/{item['id']}"})

    @app.route("GET", "/items/{item_id}")
    def get_item(request: Request) -> Response:
        raw_id = request.params["item_id"]
        item = store.get(int(raw_id)) if raw_id.isdigit() else None
        if item is None:
            raise HttpError(404, f"no item {raw_id}")
        return Response(200, item)

    return app


if __name__ == "__main__":
    run(create_app())
