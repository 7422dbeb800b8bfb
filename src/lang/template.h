/*
 * template.h: CycleCloud's cluster template language, the subset that its
 * Slurm and Lustre templates use (docs/templates.md is the user reference).
 *
 *   [cluster NAME]                      cluster attributes
 *     [[node defaults]]                 inherited by every node and node array
 *     [[node NAME]] / [[nodearray NAME]]
 *       [[[configuration]]]             key = value, seen by the node's software
 *       [[[configuration PREFIX]]]      the same, keys become PREFIX.key
 *       [[[cluster-init PROJECT:SPEC[:VERSION]]]]   software to install, in order
 *       [[[volume X]]] [[[network-interface X]]] ...  other sections, kept as is
 *   [parameters SECTION]
 *     [[parameters SUBSECTION]]
 *       [[[parameter NAME]]]            ParameterType, DefaultValue, Label, ...
 *
 * Values: `Key = text` is literal text ("..." and '''...''' quoting allowed),
 * `Key = $Param` refers to a parameter, `Key = ${expr}` is an expression over
 * parameters (the filter language of filter.h), `Key := literal` is a typed
 * literal ("s", 12, true, undefined, {..., ...} lists, [k=v; ...] records) or,
 * when it is not one, an expression kept as text (e.g. Conditions.Hidden).
 *
 * Use: tmpl_parse() once when a template is imported (it checks everything it
 * can without parameter values, so a bad template is refused at import),
 * tmpl_params_json() to build the GUI's form, then tmpl_instantiate() with
 * the user's values when a cluster is created and tmpl_to_json() to store the
 * resolved cluster definition.
 *
 * Hostile input is safe: sizes, counts, nesting and inheritance depth are all
 * capped (TMPL_MAX_*), and every error is a message, never a crash.
 * The library never logs; errors come back in *err.
 */
#ifndef STRATUS_LANG_TEMPLATE_H
#define STRATUS_LANG_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#define TMPL_MAX_TEXT      (1u << 20) /* bytes of template text */
#define TMPL_MAX_LINE      65536      /* bytes in one line or one '''...''' value */
#define TMPL_MAX_NODES     256        /* nodes + node arrays (incl. defaults, abstract) */
#define TMPL_MAX_PARAMS    1024
#define TMPL_MAX_ATTRS     1024       /* attributes in one section (lookups are linear) */
#define TMPL_MAX_ITEMS     65536      /* attributes, sections and specs in all */
#define TMPL_MAX_DEPTH     16         /* nesting of := literals ({...} and [...]) */
#define TMPL_MAX_EXTENDS   8          /* length of an Extends = chain */
#define TMPL_MAX_NAME      128        /* node, parameter, section names */

/* How an attribute's value was written. */
enum tmpl_vkind {
	TMPL_V_LITERAL, /* text or := literal: value holds it */
	TMPL_V_REF,     /* $Param: ref holds the parameter name */
	TMPL_V_EXPR,    /* ${expr}: text holds expr */
	TMPL_V_RAW,     /* := something that is not a literal: kept as text, never evaluated */
};

struct tmpl_attr {
	char *key;         /* as written: "MachineType", "Config.Entries", "slurm.autoscale" */
	char *text;        /* the value as written, quotes removed */
	json_t *value;     /* typed value: "true"/"false" -> boolean, integers -> integer,
	                      anything else string; := literals typed as written.
	                      NULL means undefined (the attribute is left out after
	                      instantiation).  For REF/EXPR: NULL until instantiated. */
	char *ref;         /* TMPL_V_REF: the parameter name; else NULL */
	unsigned line;     /* 1-based line of the key */
	enum tmpl_vkind kind;
};

/* An ordered list of attributes; keys unique within one list. */
struct tmpl_attrs {
	struct tmpl_attr *v;
	size_t n, cap;
};

/* [[[cluster-init project:spec:version]]] */
struct tmpl_init {
	char *spec;        /* as written: "slurm:scheduler:1.0.0" */
	char *project;     /* "slurm" (may hold a locker prefix "cyclecloud/slurm") */
	char *name;        /* "scheduler" */
	char *version;     /* "1.0.0", or NULL when not written (latest) */
	unsigned line;
	struct tmpl_attrs attrs; /* e.g. Optional = true */
};

/* Any other [[[KIND NAME]]] section of a node (volume, network-interface,
 * input-endpoint): kept and inherited, not interpreted. */
struct tmpl_sub {
	char *kind;
	char *name;        /* may be "" */
	unsigned line;
	struct tmpl_attrs attrs;
};

struct tmpl_node {
	char *name;
	bool is_array;     /* [[nodearray]] */
	bool abstract;     /* Abstract = true: only for Extends, never made */
	char *extends;     /* Extends = NAME, or NULL */
	unsigned line;
	struct tmpl_attrs attrs;   /* MachineType, MaxCount, ImageName, ... */
	struct tmpl_attrs config;  /* [[[configuration]]]: keys with their PREFIX. applied */
	struct tmpl_init *inits;   /* in template order */
	size_t n_inits;
	struct tmpl_sub *subs;
	size_t n_subs;
};

enum tmpl_ptype {
	TMPL_PT_STRING,    /* String, and the cloud types we cannot check (Cloud.*, Azure.*) */
	TMPL_PT_INTEGER,   /* Integer, or a NumberTextBox with Config.IntegerOnly */
	TMPL_PT_NUMBER,    /* Number / Double / Float, or a NumberTextBox */
	TMPL_PT_BOOLEAN,   /* Boolean, or a BooleanCheckBox widget */
	TMPL_PT_STRINGLIST,/* a choice among Config.Entries (unless Config.FreeForm) */
	TMPL_PT_RECORD,    /* Record: a JSON object */
};

/* A [parameters X] or [[parameters Y]] section, for the form's layout. */
struct tmpl_psection {
	char *name;
	char *parent;      /* NULL for [parameters X]; X for [[parameters Y]] */
	unsigned line;
	struct tmpl_attrs attrs;   /* Order, Description, Label */
};

struct tmpl_param {
	char *name;
	char *section;     /* [parameters X] it is in */
	char *subsection;  /* [[parameters Y]] it is in, or NULL */
	unsigned line;
	enum tmpl_ptype type;
	char *type_name;   /* ParameterType as written, or the implied one ("String") */
	char *label;       /* NULL when absent */
	char *description;
	json_t *default_value;  /* NULL: no default */
	bool required;
	json_t *choices;   /* Config.Entries as [{"label":..,"value":..}], or NULL */
	bool free_form;    /* Config.FreeForm: a StringList also takes other values */
	bool has_min, has_max;
	double min, max;   /* Config.MinValue / Config.MaxValue */
	struct tmpl_attrs attrs;  /* every attribute as written */
	json_t *value;     /* instantiated templates only: the value used (NULL: none) */
};

struct tmpl {
	char *name;        /* [cluster NAME]; after instantiation, the cluster's own name */
	char *template_name; /* [cluster NAME] as written */
	char *filename;    /* for messages */
	unsigned line;
	bool instantiated;
	struct tmpl_attrs attrs;   /* cluster attributes (Autoscale, Category, ...) */
	struct tmpl_node *defaults; /* [[node defaults]], or NULL; NULL after instantiation */
	struct tmpl_node *nodes;   /* in template order, defaults not included;
	                              after instantiation: defaults and Extends merged in,
	                              abstract nodes removed */
	size_t n_nodes;
	struct tmpl_param *params;
	size_t n_params;
	struct tmpl_psection *psections;
	size_t n_psections;
};

/*
 * Parse template text (need not be NUL-terminated; NUL bytes are refused).
 * filename (may be NULL: "template") is copied, for messages.
 * Checks, besides syntax: one [cluster]; unique node, parameter and attribute
 * names; node names [A-Za-z0-9_-] starting alphanumeric; cluster-init specs of
 * the form project:spec[:version]; known ParameterTypes; DefaultValues of the
 * parameter's type; Extends naming a node (no loops); every $Param and every
 * name in ${...} declared as a parameter (or built in: ClusterName).
 * Returns 0 and *out (free with tmpl_free), or -EINVAL (bad template),
 * -E2BIG (a TMPL_MAX_* limit), -ENOMEM; on failure *err (caller frees) says
 * "FILE:LINE: what was expected", e.g.
 *   slurm.txt:42: expected ']]]' to close section 'cluster-init slurm:default'
 */
int tmpl_parse(const char *text, size_t len, const char *filename,
               struct tmpl **out, char **err);

/*
 * Resolve a parsed template into a cluster definition.
 * cluster_name: the new cluster's name (NULL: the template's [cluster] name);
 * it is also the value of the built-in parameter ClusterName.
 * params: a JSON object {"ParamName": value, ...} or NULL.  Values may be of
 * the parameter's type, or strings that convert ("16" for an Integer,
 * "true" for a Boolean).  Checked, before anything is made: every name in
 * params is a declared parameter; every value has its parameter's type, range
 * and (StringList without FreeForm) is one of its choices; every Required
 * parameter has a value or a default.  Then every $Param and ${expr} is
 * replaced by its value (a parameter with neither value nor default is
 * undefined: attributes set to it are left out, and so is any value they
 * would have inherited; `Key := undefined` does the same), node defaults and Extends
 * are merged into each node (the node's own values win; configuration merged
 * key by key; cluster-init specs inherited first, duplicates dropped), and
 * abstract nodes are dropped.  MaxCount, if set, must resolve to an integer
 * >= 0.
 * Returns 0 and *out (a new template, independent of t; free with tmpl_free),
 * or -EINVAL / -ENOMEM with *err, e.g. "unknown parameter 'MaxNode'",
 * "slurm.txt:12: parameter 'MaxNodes' must be an Integer, not \"many\"".
 * t is not changed.
 */
int tmpl_instantiate(const struct tmpl *t, const char *cluster_name,
                     const json_t *params, struct tmpl **out, char **err);

/*
 * The parameters, for a form: {"sections":[{"name","parent","label",
 * "description","order"}...], "parameters":[{"name","section","subsection",
 * "type","type_name","label","description","default","required","choices",
 * "free_form","min","max","attributes":{...}, "value" (instantiated only)}]}.
 * Absent fields are JSON null.  New reference (caller json_decref's), NULL on
 * out of memory.
 */
json_t *tmpl_params_json(const struct tmpl *t);

/*
 * The cluster definition: {"name","template","attributes":{...},
 * "nodes":[{"name","array","abstract","extends","attributes":{...},
 * "configuration":{"dotted.key": value},"cluster_init":[{"spec","project",
 * "name","version","optional"}],"sections":[{"kind","name","attributes"}]}],
 * "parameters":{"Name": value}}.  Meant for an instantiated template; on a
 * parsed one, unresolved values appear as written ("$Param", "${...}") and
 * "parameters" holds the defaults.  New reference, NULL on out of memory.
 */
json_t *tmpl_to_json(const struct tmpl *t);

/* The node or node array NAME (case-sensitive), or NULL. */
const struct tmpl_node *tmpl_node_find(const struct tmpl *t, const char *name);
/* The parameter NAME, or NULL. */
const struct tmpl_param *tmpl_param_find(const struct tmpl *t, const char *name);
/* The attribute KEY (compared without case), or NULL. */
const struct tmpl_attr *tmpl_attr_find(const struct tmpl_attrs *a, const char *key);
/* Its value (borrowed: valid while the template lives), or NULL when absent
 * or undefined. */
const json_t *tmpl_attr_value(const struct tmpl_attrs *a, const char *key);

/* Free a template and everything in it.  NULL is fine. */
void tmpl_free(struct tmpl *t);

#endif
