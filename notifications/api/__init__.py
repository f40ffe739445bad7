"""The notifications app's REST API, one module per concern; `urls` routes them."""
