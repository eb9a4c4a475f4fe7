from django.urls import path

from hierarchy import views

urlpatterns = [
    path("", views.home, name="home"),
    path("o/<slug:org>/", views.org_home, name="org-home"),
]
