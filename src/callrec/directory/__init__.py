"""Directory: orgs (tenants), teams, users, devices, licences and their recording settings."""
