#include "common/auth/permissions.hpp"

namespace tailor::auth {

Access decide(Role role, Action action) {
  if (role == Role::kAdmin) return Access{true, false, ""};
  switch (action) {
    case Action::kView:
      return Access{true, role == Role::kSubmit, ""};
    case Action::kViewCluster:
      if (role == Role::kRead) return Access{true, false, ""};
      return Access{false, false, "role read or admin"};
    case Action::kSubmit:
      // Into its own sessions only.
      if (role == Role::kSubmit) return Access{true, true, ""};
      return Access{false, false, "role submit or admin"};
    case Action::kChange:
      if (role == Role::kSubmit) return Access{true, true, ""};
      return Access{false, false, "role submit (on its own jobs and sessions) or admin"};
  }
  return Access{false, false, "role admin"};
}

}  // namespace tailor::auth
