from django.urls import path

from hierarchy import apis

# Mounted at /api/v1/.
urlpatterns = [
    path("auth/register/", apis.RegisterApi.as_view(), name="api-register"),
    path("auth/token/", apis.TokenApi.as_view(), name="api-token"),
    path("orgs/", apis.OrganizationListCreateApi.as_view(), name="api-orgs"),
    path("orgs/<slug:org>/", apis.OrganizationDetailApi.as_view(), name="api-org"),
    path("orgs/<slug:org>/settings/", apis.SettingsApi.as_view(), name="api-settings"),
    path("orgs/<slug:org>/members/", apis.MemberListCreateApi.as_view(), name="api-members"),
    path(
        "orgs/<slug:org>/members/<int:member_id>/",
        apis.MemberDetailApi.as_view(),
        name="api-member",
    ),
    path(
        "orgs/<slug:org>/invitations/",
        apis.InvitationListCreateApi.as_view(),
        name="api-invitations",
    ),
    path(
        "orgs/<slug:org>/invitations/<int:invitation_id>/",
        apis.InvitationDetailApi.as_view(),
        name="api-invitation",
    ),
    path("invitations/", apis.MyInvitationListApi.as_view(), name="api-my-invitations"),
    path(
        "invitations/<int:invitation_id>/accept/",
        apis.InvitationAcceptApi.as_view(),
        name="api-invitation-accept",
    ),
    path(
        "invitations/<int:invitation_id>/decline/",
        apis.InvitationDeclineApi.as_view(),
        name="api-invitation-decline",
    ),
    path(
        "orgs/<slug:org>/departments/",
        apis.DepartmentListCreateApi.as_view(),
        name="api-departments",
    ),
    path(
        "orgs/<slug:org>/departments/<int:department_id>/",
        apis.DepartmentDetailApi.as_view(),
        name="api-department",
    ),
    path("orgs/<slug:org>/cycles/", apis.CycleListCreateApi.as_view(), name="api-cycles"),
    path("orgs/<slug:org>/cycles/<int:cycle_id>/", apis.CycleDetailApi.as_view(), name="api-cycle"),
]
