// Placeholder: replaced by the plugin implementation (issue 3).
#include "gcc-plugin.h"
#include "plugin-version.h"
int plugin_is_GPL_compatible;
int plugin_init(struct plugin_name_args *info, struct plugin_gcc_version *ver)
{
    if (!plugin_default_version_check(ver, &gcc_version))
        return 1;
    (void)info;
    return 0;
}
