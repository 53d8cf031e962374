from django.core.paginator import Paginator
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request


class Pagination(PageNumberPagination):
    """`?page=N` (from 1) and `?page_size=N` (default 50, at most 200)."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_number(self, request: Request, paginator: Paginator) -> int | str:
        self._require_positive_integer(request, self.page_query_param)  # DRF reads "" as 1 and accepts "last"
        return super().get_page_number(request, paginator)

    def get_page_size(self, request: Request) -> int:
        self._require_positive_integer(request, self.page_size_query_param)  # DRF ignores a bad one
        return super().get_page_size(request)

    @staticmethod
    def _require_positive_integer(request: Request, name: str) -> None:
        """A parameter that is not a positive integer is a 400, like any other bad input. (A page past the end
        is a 404, as DRF has it.)"""
        raw = request.query_params.get(name)
        if raw is not None and not (raw.isascii() and raw.isdigit() and int(raw) > 0):
            raise ValidationError({name: ["Must be a positive integer."]})

    def get_paginated_response_schema(self, schema: dict) -> dict:
        paginated = super().get_paginated_response_schema(schema)
        descriptions = {
            "count": "How many items match, on every page.",
            "next": "The next page's URL; null on the last page.",
            "previous": "The previous page's URL; null on the first page.",
            "results": "This page's items.",
        }
        for name, description in descriptions.items():
            paginated["properties"][name]["description"] = description
        return paginated
