from django.contrib import admin

from portal.customers.models import Customer, Membership


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "created_at")
    search_fields = ("name", "slug")
    inlines = [MembershipInline]
