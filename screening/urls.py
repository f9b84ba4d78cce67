from django.urls import path

from screening import admin_views as manage
from screening import views

app_name = "screening"
urlpatterns = [
    path("rules/", views.rules, name="rules"),
    # rules administration: rules admins only
    path("rules/manage/", manage.admin_home, name="admin_home"),
    path("rules/manage/import/", manage.ruleset_import, name="ruleset_import"),
    path("rules/manage/compare/", manage.compare, name="compare"),
    path("rules/manage/<int:pk>/", manage.ruleset_detail, name="ruleset_detail"),
    path("rules/manage/<int:pk>/new-draft/", manage.draft_create, name="draft_create"),
    path("rules/manage/<int:pk>/export/", manage.ruleset_export, name="ruleset_export"),
    path("rules/manage/<int:pk>/tests/", manage.ruleset_tests, name="ruleset_tests"),
    path("rules/manage/<int:pk>/impact/", manage.impact_start, name="impact_start"),
    path("rules/manage/<int:pk>/sign-off/", manage.sign_off, name="sign_off"),
    path("rules/manage/<int:pk>/publish/", manage.publish, name="publish"),
    path("rules/manage/<int:pk>/publish-again/", manage.rollback, name="rollback"),
    path("rules/manage/<int:pk>/nodes/<str:node_id>/", manage.node_edit, name="node_edit"),
    path("rules/manage/<int:pk>/nodes/<str:node_id>/add/", manage.node_add, name="node_add"),
    path("rules/manage/<int:pk>/nodes/<str:node_id>/group/", manage.group_op, name="group_op"),
    path("rules/manage/<int:pk>/nodes/<str:node_id>/off/", manage.node_off, name="node_off"),
    path("rules/manage/<int:pk>/nodes/<str:node_id>/on/", manage.node_on, name="node_on"),
    path("rules/manage/<int:pk>/cautions/<str:caution_id>/", manage.caution_edit, name="caution_edit"),
    path("rules/manage/<int:pk>/drugs/<str:drug>/", manage.drug_edit, name="drug_edit"),
    path("rules/manage/jobs/<int:pk>/", manage.job_detail, name="job_detail"),
    path("rules/manage/test-cases/", manage.testcase_list, name="testcase_list"),
    path("rules/manage/test-cases/add/", manage.testcase_add, name="testcase_add"),
    path("rules/manage/test-cases/<int:pk>/", manage.testcase_detail, name="testcase_detail"),
    path("rules/manage/test-cases/<int:pk>/expected/", manage.testcase_expect, name="testcase_expect"),
]
