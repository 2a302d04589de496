# tests/unit: cmocka unit tests
