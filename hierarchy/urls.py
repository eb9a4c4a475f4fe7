from django.urls import path

from hierarchy import admin_views, search_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("o/<slug:org>/", views.org_home, name="org-home"),
    path("o/<slug:org>/search/", search_views.search, name="search"),
    # Admin pages (admins only; see hierarchy/admin_views.py)
    path("o/<slug:org>/admin/members/", admin_views.admin_members, name="admin-members"),
    path(
        "o/<slug:org>/admin/members/<int:member_id>/role/",
        admin_views.admin_member_role,
        name="admin-member-role",
    ),
    path(
        "o/<slug:org>/admin/members/<int:member_id>/remove/",
        admin_views.admin_member_remove,
        name="admin-member-remove",
    ),
    path(
        "o/<slug:org>/admin/invitations/<int:invitation_id>/withdraw/",
        admin_views.admin_invitation_withdraw,
        name="admin-invitation-withdraw",
    ),
    # The invitee's side (hierarchy/views.py): no organization of theirs in the path.
    path(
        "invitations/<int:invitation_id>/accept/",
        views.invitation_accept,
        name="invitation-accept",
    ),
    path(
        "invitations/<int:invitation_id>/decline/",
        views.invitation_decline,
        name="invitation-decline",
    ),
    path("join/<str:token>/", views.invitation_link, name="invitation-link"),
    path("join/<str:token>/signup/", views.invitation_signup, name="invitation-signup"),
    path(
        "o/<slug:org>/admin/departments/",
        admin_views.admin_departments,
        name="admin-departments",
    ),
    path(
        "o/<slug:org>/admin/departments/<int:department_id>/",
        admin_views.admin_department_update,
        name="admin-department-update",
    ),
    path("o/<slug:org>/admin/cycles/", admin_views.admin_cycles, name="admin-cycles"),
    path("o/<slug:org>/admin/settings/", admin_views.admin_settings, name="admin-settings"),
]
