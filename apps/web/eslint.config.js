// The monorepo's rules plus React's hook rules and JSX accessibility checks for the dashboard.
import jsxA11y from "eslint-plugin-jsx-a11y";
import reactHooks from "eslint-plugin-react-hooks";
import globals from "globals";
import root from "../../eslint.config.js";

export default [
  ...root,
  reactHooks.configs.flat["recommended-latest"],
  jsxA11y.flatConfigs.strict,
  { files: ["src/**", "app/**"], languageOptions: { globals: { ...globals.browser } } },
];
