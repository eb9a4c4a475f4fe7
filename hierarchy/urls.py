from django.urls import path

from hierarchy import admin_views, search_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("orgs/new/", views.org_create, name="org-create"),
    path("o/<slug:org>/", views.org_home, name="org-home"),
    path("o/<slug:org>/search/", search_views.search, name="search"),
    path("o/<slug:org>/setup/", admin_views.org_setup, name="org-setup"),
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
    path(
        "o/<slug:org>/admin/departments/<int:department_id>/archive/",
        admin_views.admin_department_archive,
        name="admin-department-archive",
    ),
    path(
        "o/<slug:org>/admin/departments/<int:department_id>/restore/",
        admin_views.admin_department_restore,
        name="admin-department-restore",
    ),
    path(
        "o/<slug:org>/admin/departments/<int:department_id>/delete/",
        admin_views.admin_department_delete,
        name="admin-department-delete",
    ),
    path("o/<slug:org>/admin/cycles/", admin_views.admin_cycles, name="admin-cycles"),
    path(
        "o/<slug:org>/admin/cycles/<int:cycle_id>/",
        admin_views.admin_cycle_edit,
        name="admin-cycle-edit",
    ),
    path(
        "o/<slug:org>/admin/cycles/<int:cycle_id>/archive/",
        admin_views.admin_cycle_archive,
        name="admin-cycle-archive",
    ),
    path(
        "o/<slug:org>/admin/cycles/<int:cycle_id>/restore/",
        admin_views.admin_cycle_restore,
        name="admin-cycle-restore",
    ),
    path(
        "o/<slug:org>/admin/cycles/<int:cycle_id>/delete/",
        admin_views.admin_cycle_delete,
        name="admin-cycle-delete",
    ),
    path("o/<slug:org>/admin/settings/", admin_views.admin_settings, name="admin-settings"),
]
