from django.contrib import admin
from django.urls import path

admin.site.site_header = "Sequora care events"
admin.site.site_title = "Sequora admin"
admin.site.index_title = "Nurses, shifts and escalation tasks"

urlpatterns = [
    path("admin/", admin.site.urls),
]
