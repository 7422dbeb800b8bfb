/*
 * test_template.c: unit tests of the template language (src/lang/template.c):
 * a realistic Slurm-like and a Lustre-like template, inheritance (node
 * defaults, Extends, Abstract), parameter values and their errors, bad
 * templates with the exact file:line of each error, the JSON views, limits
 * on hostile input, and the two shipped templates (templates/stratusfs.txt and slurm.txt).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "lang/template.h"

/* Line numbers matter below: keep the text as it is. */
static const char slurm_txt[] =
	"\n"                                                          /*  1 */
	"################################\n"                          /*  2 */
	"## Slurm-like test template   ##\n"                          /*  3 */
	"################################\n"                          /*  4 */
	"[cluster Slurm]\n"                                           /*  5 */
	"FormLayout = selectionpanel\n"                               /*  6 */
	"Autoscale = $Autoscale\n"                                    /*  7 */
	"\n"                                                          /*  8 */
	"    [[node defaults]]\n"                                     /*  9 */
	"    ImageName = $ImageName\n"                                /* 10 */
	"    KeyPairLocation = ~/.ssh/stratus.pem\n"                  /* 11 */
	"    SubnetId = $SubnetId\n"                                  /* 12 */
	"        [[[configuration]]]\n"                               /* 13 */
	"        slurm.version = $SlurmVersion\n"                     /* 14 */
	"        slurm.user.uid = 11100\n"                            /* 15 */
	"        slurm.accounting.enabled = false\n"                  /* 16 */
	"        cyclecloud.hosts.enabled = ${NodeNameIsHostname == false}\n" /* 17 */
	"        [[[cluster-init slurm:default:1.0.0]]]\n"            /* 18 */
	"        [[[configuration mounts.shared]]]\n"                 /* 19 */
	"        type = nfs\n"                                        /* 20 */
	"        mountpoint = /shared\n"                              /* 21 */
	"\n"                                                          /* 22 */
	"    [[node scheduler]]\n"                                    /* 23 */
	"    MachineType = $SchedulerMachineType\n"                   /* 24 */
	"    KeyPairLocation = ~/.ssh/sched.pem\n"                    /* 25 */
	"        [[[configuration]]]\n"                               /* 26 */
	"        slurm.role = scheduler\n"                            /* 27 */
	"        slurm.accounting.enabled = $Accounting\n"            /* 28 */
	"        [[[cluster-init slurm:scheduler:1.0.0]]]\n"          /* 29 */
	"        [[[volume sched]]]\n"                                /* 30 */
	"        Size = 30\n"                                         /* 31 */
	"        SSD = True\n"                                        /* 32 */
	"\n"                                                          /* 33 */
	"    [[node nodearraybase]]\n"                                /* 34 */
	"    Abstract = true\n"                                       /* 35 */
	"        [[[configuration]]]\n"                               /* 36 */
	"        slurm.role = execute\n"                              /* 37 */
	"        slurm.autoscale = true\n"                            /* 38 */
	"        [[[cluster-init slurm:default:1.0.0]]]\n"            /* 39 */
	"        [[[cluster-init slurm:execute:1.0.0]]]\n"            /* 40 */
	"        Optional = true\n"                                   /* 41 */
	"\n"                                                          /* 42 */
	"    [[nodearray hpc]]\n"                                     /* 43 */
	"    Extends = nodearraybase\n"                               /* 44 */
	"    MachineType = $HPCMachineType\n"                         /* 45 */
	"    MaxCount = $MaxHPCExecuteNodeCount\n"                    /* 46 */
	"    Interruptible = $UseLowPrio\n"                           /* 47 */
	"        [[[configuration]]]\n"                               /* 48 */
	"        slurm.partition = hpc\n"                             /* 49 */
	"        slurm.default_partition = true\n"                    /* 50 */
	"        slurm.dynamic_feature := \"dyn\"\n"                  /* 51 */
	"\n"                                                          /* 52 */
	"    [[nodearray htc]]\n"                                     /* 53 */
	"    Extends = nodearraybase\n"                               /* 54 */
	"    MaxCount = 100\n"                                        /* 55 */
	"    ImageName := undefined\n"                                /* 56 */
	"        [[[configuration]]]\n"                               /* 57 */
	"        slurm.partition = htc\n"                             /* 58 */
	"        slurm.autoscale = false\n"                           /* 59 */
	"\n"                                                          /* 60 */
	"[parameters About]\n"                                        /* 61 */
	"Order = 1\n"                                                 /* 62 */
	"    [[parameters About Slurm]]\n"                            /* 63 */
	"        [[[parameter slurm]]]\n"                             /* 64 */
	"        HideLabel = true\n"                                  /* 65 */
	"        Config.Plugin = pico.widget.HtmlTemplateWidget\n"    /* 66 */
	"        Config.Template = '''<p>Slurm is a workload\n"       /* 67 */
	"manager, [[not a section]]\n"                                /* 68 */
	"# not a comment either</p>'''\n"                             /* 69 */
	"\n"                                                          /* 70 */
	"[parameters Required Settings]\n"                            /* 71 */
	"Order = 10\n"                                                /* 72 */
	"    [[parameters Virtual Machines]]\n"                       /* 73 */
	"    Description = \"The cluster has two roles: \\\"scheduler\\\" and execute.\"\n" /* 74 */
	"    Order = 20\n"                                            /* 75 */
	"        [[[parameter SchedulerMachineType]]]\n"              /* 76 */
	"        Label = Scheduler VM Type\n"                         /* 77 */
	"        Description = The VM type for scheduler node\n"      /* 78 */
	"        ParameterType = Cloud.MachineType\n"                 /* 79 */
	"        DefaultValue = Standard_D4ads_v5\n"                  /* 80 */
	"        [[[parameter HPCMachineType]]]\n"                    /* 81 */
	"        Label = HPC VM Type\n"                               /* 82 */
	"        ParameterType = Cloud.MachineType\n"                 /* 83 */
	"        DefaultValue = Standard_F2s_v2\n"                    /* 84 */
	"    [[parameters Auto-Scaling]]\n"                           /* 85 */
	"        [[[parameter Autoscale]]]\n"                         /* 86 */
	"        Label = Autoscale\n"                                 /* 87 */
	"        DefaultValue = true\n"                               /* 88 */
	"        Widget.Plugin = pico.form.BooleanCheckBox\n"         /* 89 */
	"        [[[parameter MaxHPCExecuteNodeCount]]]\n"            /* 90 */
	"        Label = Max HPC Nodes\n"                             /* 91 */
	"        DefaultValue = 16\n"                                 /* 92 */
	"        Config.Plugin = pico.form.NumberTextBox\n"           /* 93 */
	"        Config.MinValue = 0\n"                               /* 94 */
	"        Config.IntegerOnly = true\n"                         /* 95 */
	"        [[[parameter UseLowPrio]]]\n"                        /* 96 */
	"        ParameterType = Boolean\n"                           /* 97 */
	"        DefaultValue = false\n"                              /* 98 */
	"    [[parameters Networking]]\n"                             /* 99 */
	"        [[[parameter SubnetId]]]\n"                          /* 100 */
	"        Label = Subnet ID\n"                                 /* 101 */
	"        ParameterType = Azure.Subnet\n"                      /* 102 */
	"        Required = True\n"                                   /* 103 */
	"[parameters Advanced Settings]\n"                            /* 104 */
	"    [[parameters Software]]\n"                               /* 105 */
	"        [[[parameter ImageName]]]\n"                         /* 106 */
	"        ParameterType = Cloud.Image\n"                       /* 107 */
	"        DefaultValue = cycle.image.ubuntu22\n"               /* 108 */
	"        Config.Filter := Package === \"cycle.image.ubuntu22\"\n" /* 109 */
	"        [[[parameter SlurmVersion]]]\n"                      /* 110 */
	"        Required = True\n"                                   /* 111 */
	"        ParameterType = StringList\n"                        /* 112 */
	"        Config.Plugin = pico.form.Dropdown\n"                /* 113 */
	"        Config.Entries := {[Label=\"22.05\"; Value=\"22.05.8\"], [Value=\"23.11.1\"]}\n" /* 114 */
	"        DefaultValue = 22.05.8\n"                            /* 115 */
	"        [[[parameter Accounting]]]\n"                        /* 116 */
	"        ParameterType = Boolean\n"                           /* 117 */
	"        [[[parameter NodeNameIsHostname]]]\n"                /* 118 */
	"        ParameterType = Boolean\n"                           /* 119 */
	"        DefaultValue = true\n"                               /* 120 */
	"        Conditions.Hidden := UseLowPrio && !Autoscale\n";    /* 121 */

static struct tmpl *parse_ok(const char *text, const char *file)
{
	struct tmpl *t = NULL;
	char *err = NULL;
	int rc = tmpl_parse(text, strlen(text), file, &t, &err);
	if (rc != 0)
		fail_msg("template did not parse (%d): %s", rc, err ? err : "?");
	assert_non_null(t);
	assert_null(err);
	return t;
}

/* The error of a template that must not parse. */
static void parse_bad(const char *text, int want_rc, const char *want_err)
{
	struct tmpl *t = NULL;
	char *err = NULL;
	int rc = tmpl_parse(text, strlen(text), "t.txt", &t, &err);
	if (rc != want_rc)
		fail_msg("rc %d, wanted %d, for:\n%s\nerror: %s", rc, want_rc, text, err ? err : "-");
	assert_null(t);
	assert_non_null(err);
	if (want_err && strcmp(err, want_err))
		fail_msg("error\n  '%s'\nwanted\n  '%s'", err, want_err);
	free(err);
}

static struct tmpl *inst_ok(const struct tmpl *t, const char *params_json)
{
	json_t *p = params_json ? json_loads(params_json, 0, NULL) : NULL;
	if (params_json)
		assert_non_null(p);
	struct tmpl *r = NULL;
	char *err = NULL;
	int rc = tmpl_instantiate(t, "demo", p, &r, &err);
	json_decref(p);
	if (rc != 0)
		fail_msg("instantiate failed (%d): %s", rc, err ? err : "?");
	return r;
}

static void inst_bad(const struct tmpl *t, const char *params_json, const char *want_err)
{
	json_t *p = params_json ? json_loads(params_json, 0, NULL) : NULL;
	if (params_json)
		assert_non_null(p);
	struct tmpl *r = NULL;
	char *err = NULL;
	int rc = tmpl_instantiate(t, "demo", p, &r, &err);
	json_decref(p);
	if (rc != -EINVAL)
		fail_msg("instantiate gave %d, wanted -EINVAL (%s)", rc, err ? err : "-");
	assert_null(r);
	assert_non_null(err);
	if (strcmp(err, want_err))
		fail_msg("error\n  '%s'\nwanted\n  '%s'", err, want_err);
	free(err);
}

static const char *sval(const struct tmpl_attrs *a, const char *key)
{
	const json_t *v = tmpl_attr_value(a, key);
	if (!json_is_string(v))
		fail_msg("'%s' is not a string", key);
	return json_string_value(v);
}

static long long ival(const struct tmpl_attrs *a, const char *key)
{
	const json_t *v = tmpl_attr_value(a, key);
	if (!json_is_integer(v))
		fail_msg("'%s' is not an integer", key);
	return json_integer_value(v);
}

static void test_parse_slurm(void **state)
{
	struct tmpl *t = parse_ok(slurm_txt, "slurm.txt");
	assert_string_equal(t->template_name, "Slurm");
	assert_int_equal(t->line, 5);
	assert_false(t->instantiated);
	assert_string_equal(sval(&t->attrs, "FormLayout"), "selectionpanel");
	const struct tmpl_attr *a = tmpl_attr_find(&t->attrs, "autoscale");
	assert_non_null(a);
	assert_int_equal(a->kind, TMPL_V_REF);
	assert_string_equal(a->ref, "Autoscale");
	assert_int_equal(a->line, 7);

	assert_non_null(t->defaults);
	assert_int_equal(t->defaults->config.n, 6);
	assert_int_equal(ival(&t->defaults->config, "slurm.user.uid"), 11100);
	assert_true(json_is_false(tmpl_attr_value(&t->defaults->config, "slurm.accounting.enabled")));
	assert_string_equal(sval(&t->defaults->config, "mounts.shared.mountpoint"), "/shared");
	a = tmpl_attr_find(&t->defaults->config, "cyclecloud.hosts.enabled");
	assert_int_equal(a->kind, TMPL_V_EXPR);
	assert_string_equal(a->text, "NodeNameIsHostname == false");

	assert_int_equal(t->n_nodes, 4);   /* defaults are apart */
	const struct tmpl_node *s = tmpl_node_find(t, "scheduler");
	assert_non_null(s);
	assert_false(s->is_array);
	assert_int_equal(s->line, 23);
	assert_int_equal(s->n_inits, 1);
	assert_string_equal(s->inits[0].project, "slurm");
	assert_string_equal(s->inits[0].name, "scheduler");
	assert_string_equal(s->inits[0].version, "1.0.0");
	assert_int_equal(s->n_subs, 1);
	assert_string_equal(s->subs[0].kind, "volume");
	assert_string_equal(s->subs[0].name, "sched");
	assert_true(json_is_true(tmpl_attr_value(&s->subs[0].attrs, "SSD")));

	const struct tmpl_node *base = tmpl_node_find(t, "nodearraybase");
	assert_true(base->abstract);
	assert_true(json_is_true(tmpl_attr_value(&base->inits[1].attrs, "Optional")));
	const struct tmpl_node *hpc = tmpl_node_find(t, "hpc");
	assert_true(hpc->is_array);
	assert_string_equal(hpc->extends, "nodearraybase");
	a = tmpl_attr_find(&hpc->config, "slurm.dynamic_feature");
	assert_int_equal(a->kind, TMPL_V_LITERAL);
	assert_string_equal(json_string_value(a->value), "dyn");
	const struct tmpl_node *htc = tmpl_node_find(t, "htc");
	a = tmpl_attr_find(&htc->attrs, "ImageName");
	assert_non_null(a);
	assert_null(a->value);   /* := undefined */

	assert_int_equal(t->n_params, 11);
	const struct tmpl_param *p = tmpl_param_find(t, "slurm");
	assert_string_equal(p->section, "About");
	assert_string_equal(p->subsection, "About Slurm");
	assert_string_equal(sval(&p->attrs, "Config.Template"),
	                    "<p>Slurm is a workload\nmanager, [[not a section]]\n# not a comment either</p>");
	p = tmpl_param_find(t, "MaxHPCExecuteNodeCount");
	assert_int_equal(p->type, TMPL_PT_INTEGER);   /* NumberTextBox + IntegerOnly */
	assert_true(p->has_min);
	assert_false(p->has_max);
	assert_int_equal(json_integer_value(p->default_value), 16);
	assert_int_equal(p->line, 90);
	p = tmpl_param_find(t, "Autoscale");
	assert_int_equal(p->type, TMPL_PT_BOOLEAN);   /* BooleanCheckBox */
	assert_true(json_is_true(p->default_value));
	p = tmpl_param_find(t, "SubnetId");
	assert_int_equal(p->type, TMPL_PT_STRING);
	assert_string_equal(p->type_name, "Azure.Subnet");
	assert_true(p->required);
	assert_null(p->default_value);
	p = tmpl_param_find(t, "SlurmVersion");
	assert_int_equal(p->type, TMPL_PT_STRINGLIST);
	assert_int_equal(json_array_size(p->choices), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(p->choices, 0), "label")), "22.05");
	assert_string_equal(json_string_value(json_object_get(json_array_get(p->choices, 1), "label")), "23.11.1");
	p = tmpl_param_find(t, "ImageName");
	a = tmpl_attr_find(&p->attrs, "Config.Filter");
	assert_int_equal(a->kind, TMPL_V_RAW);
	assert_string_equal(json_string_value(a->value), "Package === \"cycle.image.ubuntu22\"");
	p = tmpl_param_find(t, "NodeNameIsHostname");
	a = tmpl_attr_find(&p->attrs, "Conditions.Hidden");
	assert_int_equal(a->kind, TMPL_V_RAW);

	assert_int_equal(t->n_psections, 8);
	assert_string_equal(t->psections[3].name, "Virtual Machines");
	assert_string_equal(t->psections[3].parent, "Required Settings");
	assert_string_equal(sval(&t->psections[3].attrs, "Description"),
	                    "The cluster has two roles: \"scheduler\" and execute.");
	tmpl_free(t);
}

static void test_instantiate_slurm(void **state)
{
	struct tmpl *t = parse_ok(slurm_txt, "slurm.txt");
	struct tmpl *r = inst_ok(t, "{\"SubnetId\": \"rg/vnet/default\", \"MaxHPCExecuteNodeCount\": \"8\","
	                            " \"Accounting\": \"true\", \"NodeNameIsHostname\": false}");
	assert_true(r->instantiated);
	assert_string_equal(r->name, "demo");
	assert_string_equal(r->template_name, "Slurm");
	assert_null(r->defaults);
	assert_true(json_is_true(tmpl_attr_value(&r->attrs, "Autoscale")));
	assert_int_equal(r->n_nodes, 3);   /* the abstract base is gone */
	assert_null(tmpl_node_find(r, "nodearraybase"));

	const struct tmpl_node *s = tmpl_node_find(r, "scheduler");
	assert_string_equal(sval(&s->attrs, "ImageName"), "cycle.image.ubuntu22");
	assert_string_equal(sval(&s->attrs, "SubnetId"), "rg/vnet/default");
	assert_string_equal(sval(&s->attrs, "MachineType"), "Standard_D4ads_v5");
	/* the node's own value wins, at the place the default had it */
	assert_string_equal(sval(&s->attrs, "KeyPairLocation"), "~/.ssh/sched.pem");
	assert_string_equal(s->attrs.v[1].key, "KeyPairLocation");
	assert_string_equal(sval(&s->config, "slurm.version"), "22.05.8");
	assert_string_equal(sval(&s->config, "slurm.role"), "scheduler");
	assert_true(json_is_true(tmpl_attr_value(&s->config, "slurm.accounting.enabled")));
	assert_true(json_is_true(tmpl_attr_value(&s->config, "cyclecloud.hosts.enabled")));
	assert_string_equal(sval(&s->config, "mounts.shared.type"), "nfs");
	assert_int_equal(s->n_inits, 2);
	assert_string_equal(s->inits[0].spec, "slurm:default:1.0.0");
	assert_string_equal(s->inits[1].spec, "slurm:scheduler:1.0.0");

	const struct tmpl_node *hpc = tmpl_node_find(r, "hpc");
	assert_true(hpc->is_array);
	assert_false(hpc->abstract);
	assert_null(tmpl_attr_find(&hpc->attrs, "Abstract"));
	assert_int_equal(ival(&hpc->attrs, "MaxCount"), 8);
	assert_string_equal(sval(&hpc->attrs, "MachineType"), "Standard_F2s_v2");
	assert_true(json_is_false(tmpl_attr_value(&hpc->attrs, "Interruptible")));
	assert_string_equal(sval(&hpc->config, "slurm.role"), "execute");
	assert_true(json_is_true(tmpl_attr_value(&hpc->config, "slurm.autoscale")));
	assert_false(json_is_true(tmpl_attr_value(&hpc->config, "slurm.accounting.enabled")));
	assert_string_equal(sval(&hpc->config, "slurm.partition"), "hpc");
	/* defaults' spec first, the base's next, the duplicate dropped */
	assert_int_equal(hpc->n_inits, 2);
	assert_string_equal(hpc->inits[0].spec, "slurm:default:1.0.0");
	assert_string_equal(hpc->inits[1].spec, "slurm:execute:1.0.0");
	assert_true(json_is_true(tmpl_attr_value(&hpc->inits[1].attrs, "Optional")));

	const struct tmpl_node *htc = tmpl_node_find(r, "htc");
	assert_int_equal(ival(&htc->attrs, "MaxCount"), 100);
	/* := undefined removes the inherited ImageName... */
	assert_null(tmpl_attr_find(&htc->attrs, "ImageName"));
	assert_true(json_is_false(tmpl_attr_value(&htc->config, "slurm.autoscale")));
	/* ... and the parameter without a value leaves Interruptible out of htc,
	 * which never set it */
	assert_null(tmpl_attr_find(&htc->attrs, "Interruptible"));

	json_t *j = tmpl_to_json(r);
	assert_non_null(j);
	json_t *nodes = json_object_get(j, "nodes");
	assert_int_equal(json_array_size(nodes), 3);
	json_t *jh = json_array_get(nodes, 2);
	assert_string_equal(json_string_value(json_object_get(jh, "name")), "htc");
	assert_null(json_object_get(json_object_get(jh, "attributes"), "ImageName"));
	assert_true(json_is_true(json_object_get(jh, "array")));
	json_t *ci = json_object_get(jh, "cluster_init");
	assert_true(json_is_true(json_object_get(json_array_get(ci, 1), "optional")));
	assert_false(json_is_true(json_object_get(json_array_get(ci, 0), "optional")));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "parameters"),
	                                                    "MaxHPCExecuteNodeCount")), 8);
	assert_null(json_object_get(json_object_get(j, "parameters"), "UseLowPrio2"));
	json_t *sched = json_array_get(nodes, 0);
	json_t *vol = json_array_get(json_object_get(sched, "sections"), 0);
	assert_string_equal(json_string_value(json_object_get(vol, "kind")), "volume");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(vol, "attributes"), "Size")), 30);
	json_decref(j);

	/* instantiating again from r's source gives the same; t is untouched */
	assert_false(t->instantiated);
	assert_int_equal(t->n_nodes, 4);
	tmpl_free(r);
	tmpl_free(t);
}

static void test_parameter_errors(void **state)
{
	struct tmpl *t = parse_ok(slurm_txt, "slurm.txt");
	inst_bad(t, NULL, "slurm.txt:100: parameter 'SubnetId' (Subnet ID) is required and has no "
	                  "default: give it a value");
	inst_bad(t, "{\"SubnetId\": \"x\", \"MaxNodes\": 3}",
	         "unknown parameter 'MaxNodes': template 'Slurm' (slurm.txt) declares no such parameter");
	inst_bad(t, "{\"SubnetId\": \"x\", \"MaxHPCExecuteNodeCount\": \"many\"}",
	         "slurm.txt:90: parameter 'MaxHPCExecuteNodeCount' must be a whole number (Integer), "
	         "not \"many\"");
	inst_bad(t, "{\"SubnetId\": \"x\", \"MaxHPCExecuteNodeCount\": 2.5}",
	         "slurm.txt:90: parameter 'MaxHPCExecuteNodeCount' must be a whole number (Integer), "
	         "not 2.5");
	inst_bad(t, "{\"SubnetId\": \"x\", \"MaxHPCExecuteNodeCount\": -1}",
	         "slurm.txt:90: parameter 'MaxHPCExecuteNodeCount' must be at least 0 (Integer), not -1");
	inst_bad(t, "{\"SubnetId\": \"x\", \"Autoscale\": \"yes\"}",
	         "slurm.txt:86: parameter 'Autoscale' must be true or false (Boolean), not \"yes\"");
	inst_bad(t, "{\"SubnetId\": \"x\", \"SlurmVersion\": \"21.08\"}",
	         "slurm.txt:110: parameter 'SlurmVersion' must be one of \"22.05.8\", \"23.11.1\" "
	         "(StringList), not \"21.08\"");
	inst_bad(t, "{\"SubnetId\": [1]}",
	         "slurm.txt:100: parameter 'SubnetId' must be text (Azure.Subnet), not [1]");
	inst_bad(t, "[1, 2]", "parameters must be a JSON object {\"Name\": value, ...}");
	/* null means "not given" */
	struct tmpl *r = inst_ok(t, "{\"SubnetId\": \"x\", \"Accounting\": null}");
	tmpl_free(r);
	/* a bad cluster name */
	struct tmpl *r2 = NULL;
	char *err = NULL;
	assert_int_equal(tmpl_instantiate(t, "bad name", NULL, &r2, &err), -EINVAL);
	assert_non_null(strstr(err, "'bad name' is not a valid cluster name"));
	free(err);
	tmpl_free(t);

	/* MaxCount must resolve to a count */
	t = parse_ok("[cluster c]\n"
	             "  [[nodearray a]]\n"
	             "  MaxCount = $N\n"
	             "[parameters P]\n"
	             "  [[parameters Q]]\n"
	             "    [[[parameter N]]]\n"
	             "    DefaultValue = lots\n", "m.txt");
	inst_bad(t, NULL, "m.txt:3: MaxCount of nodearray 'a' must be a whole number >= 0, not \"lots\"");
	r = inst_ok(t, "{\"N\": 3}");
	assert_int_equal(ival(&r->nodes[0].attrs, "MaxCount"), 3);
	tmpl_free(r);
	r = inst_ok(t, "{\"N\": \"7\"}");
	assert_int_equal(ival(&r->nodes[0].attrs, "MaxCount"), 7);
	tmpl_free(r);
	tmpl_free(t);
}

static void test_bad_templates(void **state)
{
	static const struct { const char *text; int rc; const char *err; } cases[] = {
		{ "[cluster a]\n  [[node x]]\n  [[[cluster-init a:b:c]]\n", -EINVAL,
		  "t.txt:3: expected ']]]' to close section 'cluster-init a:b:c'" },
		{ "[cluster a]\n[[node x]\n", -EINVAL,
		  "t.txt:2: expected ']]' to close section 'node x'" },
		{ "[cluster a]]\n", -EINVAL, "t.txt:1: expected ']' to close section 'cluster a'" },
		{ "[cluster a\n", -EINVAL, "t.txt:1: expected ']' to close section 'cluster a'" },
		{ "[cluster a] junk\n", -EINVAL, "t.txt:1: expected ']' to close section 'cluster a'" },
		{ "[cluster a] # fine\n[[[[node x]]]]\n", -EINVAL,
		  "t.txt:2: too many '[': sections have 1 to 3" },
		{ "\n\nKey = 1\n[cluster a]\n", -EINVAL,
		  "t.txt:3: attribute 'Key' is outside any section; put it under '[cluster NAME]' or a node" },
		{ "# nothing\n", -EINVAL,
		  "t.txt: no '[cluster NAME]' section: a template describes one cluster" },
		{ "[cluster a]\n[cluster b]\n", -EINVAL,
		  "t.txt:2: a second '[cluster]' section: a template holds one cluster (the first is on line 1)" },
		{ "[cluster a]\n[[node x]]\n[[node x]]\n", -EINVAL,
		  "t.txt:3: node 'x' is defined twice (first on line 2)" },
		{ "[cluster a]\n[[nodearray x y]]\n", -EINVAL,
		  "t.txt:2: 'x y' is not a valid nodearray name: use up to 63 letters, digits, '-' and '_', "
		  "starting with a letter or digit" },
		{ "[cluster a]\n[[node]]\n", -EINVAL, "t.txt:2: expected a name after '[[node'" },
		{ "[cluster a]\n[[nodearray defaults]]\n", -EINVAL,
		  "t.txt:2: defaults are written '[[node defaults]]', not '[[nodearray defaults]]'" },
		{ "[cluster a]\n[[node x]]\nA = 1\nB = 2\nA = 3\n", -EINVAL,
		  "t.txt:5: 'A' is set twice in section 'node x' (first on line 3); keep one" },
		{ "[cluster a]\n[[node x]]\n[[[configuration p]]]\nk = 1\n[[[configuration]]]\np.K = 2\n", -EINVAL,
		  "t.txt:6: 'p.K' is set twice in section 'configuration' (first on line 4); keep one" },
		{ "[cluster a]\n[[node x]]\nMachine Type = 1\n", -EINVAL,
		  "t.txt:3: 'Machine Type' is not an attribute name: use letters, digits, '_', '.' and '-'" },
		{ "[cluster a]\n[[node x]]\njust words\n", -EINVAL,
		  "t.txt:3: expected 'Key = value' or a '[section]', not 'just words'" },
		{ "[cluster a]\n[[node x]]\n= 1\n", -EINVAL, "t.txt:3: expected an attribute name before '='" },
		{ "[cluster a]\n[[node x]]\nA = $Nope\n", -EINVAL,
		  "t.txt:3: 'A' refers to '$Nope', which is not a declared parameter; add "
		  "'[[[parameter Nope]]]' or fix the name" },
		{ "[cluster a]\n[[node x]]\n[[[configuration]]]\nk = ${Nope && true}\n", -EINVAL,
		  "t.txt:4: 'k' uses 'Nope' in '${...}', which is not a declared parameter; add "
		  "'[[[parameter Nope]]]' or fix the name" },
		{ "[cluster a]\n[[node x]]\nA = $Foo/bar\n", -EINVAL,
		  "t.txt:3: '$Foo/bar' is not a parameter reference: write '$Name' alone as the value, "
		  "'${expression}', or quote the text (\"...\") if the '$' is meant" },
		{ "[cluster a]\n[[node x]]\nA = ${x == }\n", -EINVAL,
		  "t.txt:3: in '${...}' of 'A', column 6: expected a value after '==', not the end of the expression" },
		{ "[cluster a]\n[[node x]]\nA = ${x\n", -EINVAL,
		  "t.txt:3: expected '}' to close '${' in the value of 'A'" },
		{ "[cluster a]\n[[node x]]\n[[[cluster-init slurm]]]\n", -EINVAL,
		  "t.txt:3: 'slurm' is not a cluster-init spec: write '[[[cluster-init PROJECT:SPEC:VERSION]]]', "
		  "e.g. 'slurm:scheduler:1.0.0'" },
		{ "[cluster a]\n[[node x]]\n[[[cluster-init a:b:c:d]]]\n", -EINVAL, NULL },
		{ "[cluster a]\n[[node x]]\n[[[cluster-init a:b;rm]]]\n", -EINVAL, NULL },
		{ "[cluster a]\n[[node x]]\n[[[cluster-init a:b]]]\n[[[cluster-init a:b]]]\n", -EINVAL,
		  "t.txt:4: cluster-init 'a:b' is listed twice for 'x' (first on line 3)" },
		{ "[cluster a]\n[[[configuration]]]\n", -EINVAL,
		  "t.txt:2: '[[[configuration]]]' must be inside a '[[node NAME]]' or '[[nodearray NAME]]' section" },
		{ "[cluster a]\n[[parameters x]]\n", -EINVAL,
		  "t.txt:2: '[[parameters x]]' must be inside a '[parameters NAME]' section" },
		{ "[cluster a]\n[parameters P]\n[[node x]]\n", -EINVAL,
		  "t.txt:3: '[[node x]]' must be inside a '[cluster NAME]' section" },
		{ "[cluster a]\n[parameters P]\n[[[parameter x]]]\n", -EINVAL,
		  "t.txt:3: '[[[parameter x]]]' must be inside a '[[parameters NAME]]' section" },
		{ "[cluster a]\n[environment x]\n", -EINVAL,
		  "t.txt:2: unknown section '[environment]'; expected '[cluster NAME]' or '[parameters NAME]'" },
		{ "[cluster a]\n[[noderef x]]\n", -EINVAL,
		  "t.txt:2: unknown section '[[noderef]]'; expected '[[node NAME]]', '[[nodearray NAME]]' or "
		  "'[[parameters NAME]]'" },
		{ "[cluster a]\n[parameters P]\n[[parameters Q]]\n[[[parameter x]]]\n[[[parameter x]]]\n", -EINVAL,
		  "t.txt:5: parameter 'x' is declared twice (first on line 4)" },
		{ "[cluster a]\n[parameters P]\n[[parameters Q]]\n[[[parameter x]]]\nParameterType = Strong\n",
		  -EINVAL, "t.txt:5: unknown ParameterType 'Strong' of 'x'; use String, Integer, Number, "
		  "Boolean, StringList or Record" },
		{ "[cluster a]\n[parameters P]\n[[parameters Q]]\n[[[parameter x]]]\nParameterType = Integer\n"
		  "DefaultValue = ten\n", -EINVAL,
		  "t.txt:6: DefaultValue \"ten\" of parameter 'x' must be a whole number (Integer)" },
		{ "[cluster a]\n[parameters P]\n[[parameters Q]]\n[[[parameter x]]]\nParameterType = Integer\n"
		  "Config.MaxValue = 5\nDefaultValue = 10\n", -EINVAL,
		  "t.txt:7: DefaultValue 10 of parameter 'x' must be at most 5 (Integer)" },
		{ "[cluster a]\n[parameters P]\n[[parameters Q]]\n[[[parameter x]]]\nRequired = maybe\n", -EINVAL,
		  "t.txt:5: Required of 'x' must be true or false" },
		{ "[cluster a]\n[parameters P]\n[[parameters Q]]\n[[[parameter x]]]\n"
		  "Config.Entries := {[Label=\"a\"]}\n", -EINVAL,
		  "t.txt:5: entry 1 of Config.Entries of 'x' has no Value" },
		{ "[cluster a]\n[parameters P]\n[[parameters Q]]\n[[[parameter x]]]\nDefaultValue = $y\n"
		  "[[[parameter y]]]\n", -EINVAL,
		  "t.txt:5: 'DefaultValue' of parameter 'x' refers to a parameter; a parameter's attributes "
		  "are fixed text" },
		{ "[cluster a]\n[parameters P]\n[[parameters Q]]\n[[[parameter ClusterName]]]\n", -EINVAL,
		  "t.txt:4: 'ClusterName' is built in (the cluster's name); choose another parameter name" },
		{ "[cluster a]\n[[node x]]\nExtends = y\n", -EINVAL,
		  "t.txt:3: 'x' extends 'y', which is not a node of this template" },
		{ "[cluster a]\n[[node x]]\nExtends = x\n", -EINVAL, "t.txt:3: 'x' extends itself" },
		{ "[cluster a]\n[[node x]]\nExtends = y\n[[node y]]\nExtends = x\n", -EINVAL,
		  "t.txt:3: the Extends chain of 'x' is longer than 8 or loops" },
		{ "[cluster a]\n[[node x]]\nAbstract = sometimes\n", -EINVAL,
		  "t.txt:3: Abstract of 'x' must be true or false" },
		{ "[cluster a]\n[[node defaults]]\nExtends = x\n[[node x]]\n", -EINVAL,
		  "t.txt:3: '[[node defaults]]' cannot use Extends" },
		{ "[cluster a]\n[[node x]]\nT = '''abc\nline\n", -EINVAL,
		  "t.txt:3: expected ''' to close the text that starts here" },
		{ "[cluster a]\n[[node x]]\nT = '''abc''' tail\n", -EINVAL,
		  "t.txt:3: unexpected text after the closing '''" },
		{ "[cluster a]\n[[node x]]\nT = 1\n\nU = \xc3\x28\n", -EINVAL,
		  "t.txt:5: the text is not valid UTF-8; save the template as UTF-8" },
		{ "[cluster bad.name]\n", -EINVAL,
		  "t.txt:1: 'bad.name' is not a valid cluster name: use letters, digits, '-' and '_', "
		  "starting with a letter or digit" },
		{ "[cluster a]\n[[node x]]\n[[[volume a]]]\n[[[volume a]]]\n", -EINVAL,
		  "t.txt:4: '[[[volume a]]]' appears twice in 'x' (first on line 3)" },
		{ "[cluster a]\n[[node defaults]]\n[[node defaults]]\n", -EINVAL,
		  "t.txt:3: '[[node defaults]]' appears twice (first on line 2); merge them" },
		{ "[cluster a]\n[]\n", -EINVAL, "t.txt:2: empty section header; expected e.g. '[cluster NAME]'" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		parse_bad(cases[i].text, cases[i].rc, cases[i].err);

	/* a NUL byte, with its line */
	static const char nul[] = "[cluster a]\n[[node x]]\nA = 1\0\n";
	struct tmpl *t = NULL;
	char *err = NULL;
	assert_int_equal(tmpl_parse(nul, sizeof(nul) - 1, NULL, &t, &err), -EINVAL);
	assert_string_equal(err, "template:3: NUL byte in the text: a template is plain text");
	free(err);
}

static void test_values(void **state)
{
	struct tmpl *t = parse_ok(
		"[cluster c]\n"
		"  [[node n]]\n"
		"  Int = 42\n"
		"  Neg = -7\n"
		"  Zero = 0\n"
		"  Octal = 0755\n"
		"  Version = 22.05\n"
		"  Big = 123456789012345678901234\n"
		"  Bool = TRUE\n"
		"  Quoted = \"true\"\n"
		"  Empty =\n"
		"  Spaces =   a  b   \n"
		"  Hash = a # b\n"
		"  Dollar = \"$HOME\"\n"
		"  Lit := 1.5\n"
		"  List := {\"a\", 2, true, [k=\"v\"], {}}\n"
		"  Rec := [A=1; B=\"x\", C={1}]\n"
		"  Null := null\n"
		"  Expr := a && b\n"
		"  Nested := {{{{1}}}}\n"
		"  Bare := [k=v]\n"
		"  Eq = a=b\n", "v.txt");
	const struct tmpl_attrs *a = &t->nodes[0].attrs;
	assert_int_equal(ival(a, "Int"), 42);
	assert_int_equal(ival(a, "Neg"), -7);
	assert_int_equal(ival(a, "Zero"), 0);
	assert_string_equal(sval(a, "Octal"), "0755");
	assert_string_equal(sval(a, "Version"), "22.05");
	assert_string_equal(sval(a, "Big"), "123456789012345678901234");
	assert_true(json_is_true(tmpl_attr_value(a, "Bool")));
	assert_string_equal(sval(a, "Quoted"), "true");
	assert_string_equal(sval(a, "Empty"), "");
	assert_string_equal(sval(a, "Spaces"), "a  b");
	assert_string_equal(sval(a, "Hash"), "a # b");
	assert_string_equal(sval(a, "Dollar"), "$HOME");
	assert_true(json_real_value(tmpl_attr_value(a, "Lit")) == 1.5);
	char *s = json_dumps(tmpl_attr_value(a, "List"), JSON_COMPACT);
	assert_string_equal(s, "[\"a\",2,true,{\"k\":\"v\"},[]]");
	free(s);
	assert_int_equal(tmpl_attr_find(a, "List")->kind, TMPL_V_LITERAL);
	assert_int_equal(tmpl_attr_find(a, "Rec")->kind, TMPL_V_LITERAL);
	assert_int_equal(tmpl_attr_find(a, "Bare")->kind, TMPL_V_RAW); /* v is not a literal */
	assert_null(tmpl_attr_value(a, "Null"));
	assert_int_equal(tmpl_attr_find(a, "Expr")->kind, TMPL_V_RAW);
	s = json_dumps(tmpl_attr_value(a, "Nested"), JSON_COMPACT);
	assert_string_equal(s, "[[[[1]]]]");
	free(s);
	assert_string_equal(sval(a, "Eq"), "a=b");
	tmpl_free(t);

	/* found by fuzz_template: an empty value at the very end, no newline */
	static const char eof_text[] = { '[', 'c', 'l', 'u', 's', 't', 'e', 'r', ' ', 'c', ']', '\n',
	                                 'K', ' ', '=' };
	char *err = NULL;
	assert_int_equal(tmpl_parse(eof_text, sizeof(eof_text), "eof.txt", &t, &err), 0);
	assert_string_equal(sval(&t->attrs, "K"), "");
	tmpl_free(t);
	assert_int_equal(tmpl_parse(eof_text, sizeof(eof_text) - 1, "eof.txt", &t, &err), -EINVAL);
	assert_string_equal(err, "eof.txt:2: expected 'Key = value' or a '[section]', not 'K'");
	free(err);

	t = parse_ok("[cluster c]\n  [[node n]]\n  Rec := [A=1; B=\"x\", C={1}]\n", "v.txt");
	s = json_dumps(tmpl_attr_value(&t->nodes[0].attrs, "Rec"), JSON_COMPACT);
	assert_string_equal(s, "{\"A\":1,\"B\":\"x\",\"C\":[1]}");
	free(s);
	tmpl_free(t);
}

static void test_expressions_and_builtin(void **state)
{
	struct tmpl *t = parse_ok(
		"[cluster c]\n"
		"  [[node n]]\n"
		"  Name = $ClusterName\n"
		"  Big = ${Size > 10}\n"
		"  Pick = ${Kind in {\"lustre\", \"sfs\"} && !Off}\n"
		"  Copy = ${Size}\n"
		"  Missing = ${Unset}\n"
		"  Ref = $Unset\n"
		"[parameters P]\n"
		"  [[parameters Q]]\n"
		"    [[[parameter Size]]]\n"
		"    ParameterType = Integer\n"
		"    DefaultValue = 4\n"
		"    [[[parameter Kind]]]\n"
		"    DefaultValue = sfs\n"
		"    [[[parameter Off]]]\n"
		"    ParameterType = Boolean\n"
		"    DefaultValue = false\n"
		"    [[[parameter Unset]]]\n", "e.txt");
	struct tmpl *r = inst_ok(t, "{\"Size\": 11}");
	const struct tmpl_attrs *a = &r->nodes[0].attrs;
	assert_string_equal(sval(a, "Name"), "demo");
	assert_true(json_is_true(tmpl_attr_value(a, "Big")));
	assert_true(json_is_true(tmpl_attr_value(a, "Pick")));
	assert_int_equal(ival(a, "Copy"), 11);
	assert_null(tmpl_attr_find(a, "Missing"));
	assert_null(tmpl_attr_find(a, "Ref"));
	tmpl_free(r);
	r = inst_ok(t, "{\"Kind\": \"nfs\", \"Off\": \"TRUE\"}");
	a = &r->nodes[0].attrs;
	assert_false(json_is_true(tmpl_attr_value(a, "Big")));
	assert_false(json_is_true(tmpl_attr_value(a, "Pick")));
	tmpl_free(r);
	tmpl_free(t);
}

/* The Lustre-like template: node defaults with configuration prefixes and
 * cluster-init, an mds node, oss and client arrays. */
static const char lustre_txt[] =
	"[cluster Lustre]\n"
	"Category = Filesystems\n"
	"AutoScale = false\n"
	"    [[node defaults]]\n"
	"    ImageName = $ImageName\n"
	"        [[[cluster-init lustre:default:1.0.0]]]\n"
	"        Optional = True\n"
	"        [[[configuration lustre]]]\n"
	"        fsname = $FsName\n"
	"        mdt_device = /dev/sdb\n"
	"    [[node mds]]\n"
	"    MachineType = $MdsMachineType\n"
	"        [[[configuration]]]\n"
	"        lustre.role = mds\n"
	"        [[[cluster-init lustre:mds:1.0.0]]]\n"
	"        [[[input-endpoint ganglia]]]\n"
	"        PrivatePort = 8652\n"
	"    [[nodearray oss]]\n"
	"    MaxCount = $MaxOss\n"
	"        [[[configuration lustre]]]\n"
	"        role = oss\n"
	"        mdt_device = none\n"
	"        [[[cluster-init lustre:oss:1.0.0]]]\n"
	"    [[nodearray client]]\n"
	"    MaxCount := 16\n"
	"        [[[cluster-init lustre:client]]]\n"
	"[parameters Lustre Settings]\n"
	"    [[parameters Lustre]]\n"
	"        [[[parameter FsName]]]\n"
	"        DefaultValue = lustre\n"
	"        [[[parameter MaxOss]]]\n"
	"        ParameterType = Integer\n"
	"        DefaultValue = 4\n"
	"        [[[parameter MdsMachineType]]]\n"
	"        ParameterType = Cloud.MachineType\n"
	"        DefaultValue = Standard_L8s_v2\n"
	"        [[[parameter ImageName]]]\n"
	"        ParameterType = Cloud.Image\n"
	"        DefaultValue = cycle.image.centos7\n";

static void test_lustre(void **state)
{
	struct tmpl *t = parse_ok(lustre_txt, "lustre.txt");
	struct tmpl *r = inst_ok(t, "{\"MaxOss\": 2, \"FsName\": \"scratch\"}");
	const struct tmpl_node *mds = tmpl_node_find(r, "mds");
	assert_string_equal(sval(&mds->config, "lustre.fsname"), "scratch");
	assert_string_equal(sval(&mds->config, "lustre.mdt_device"), "/dev/sdb");
	assert_string_equal(sval(&mds->config, "lustre.role"), "mds");
	assert_int_equal(mds->n_inits, 2);
	assert_true(json_is_true(tmpl_attr_value(&mds->inits[0].attrs, "Optional")));
	assert_int_equal(mds->n_subs, 1);
	assert_string_equal(mds->subs[0].kind, "input-endpoint");
	const struct tmpl_node *oss = tmpl_node_find(r, "oss");
	assert_string_equal(sval(&oss->config, "lustre.mdt_device"), "none");
	assert_string_equal(sval(&oss->config, "lustre.role"), "oss");
	assert_int_equal(ival(&oss->attrs, "MaxCount"), 2);
	const struct tmpl_node *cl = tmpl_node_find(r, "client");
	assert_int_equal(ival(&cl->attrs, "MaxCount"), 16);
	assert_null(cl->inits[1].version);
	assert_string_equal(cl->inits[1].name, "client");
	json_t *j = tmpl_to_json(r);
	json_t *ci = json_object_get(json_array_get(json_object_get(j, "nodes"), 2), "cluster_init");
	assert_true(json_is_null(json_object_get(json_array_get(ci, 1), "version")));
	json_decref(j);
	tmpl_free(r);

	/* a parsed (not instantiated) template shows references as written */
	j = tmpl_to_json(t);
	json_t *n0 = json_array_get(json_object_get(j, "nodes"), 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(n0, "attributes"),
	                                                      "MachineType")), "$MdsMachineType");
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "parameters"),
	                                                      "FsName")), "lustre");
	json_decref(j);
	tmpl_free(t);
}

static void test_params_json(void **state)
{
	struct tmpl *t = parse_ok(slurm_txt, "slurm.txt");
	json_t *j = tmpl_params_json(t);
	assert_non_null(j);
	json_t *ps = json_object_get(j, "parameters");
	assert_int_equal(json_array_size(ps), 11);
	json_t *p = NULL;
	size_t i;
	json_t *x;
	json_array_foreach(ps, i, x)
		if (!strcmp(json_string_value(json_object_get(x, "name")), "MaxHPCExecuteNodeCount"))
			p = x;
	assert_non_null(p);
	assert_string_equal(json_string_value(json_object_get(p, "type")), "Integer");
	assert_string_equal(json_string_value(json_object_get(p, "label")), "Max HPC Nodes");
	assert_string_equal(json_string_value(json_object_get(p, "section")), "Required Settings");
	assert_string_equal(json_string_value(json_object_get(p, "subsection")), "Auto-Scaling");
	assert_int_equal(json_integer_value(json_object_get(p, "default")), 16);
	assert_int_equal(json_integer_value(json_object_get(p, "min")), 0);
	assert_true(json_is_null(json_object_get(p, "max")));
	assert_true(json_is_false(json_object_get(p, "required")));
	assert_true(json_is_null(json_object_get(p, "value")));
	json_t *secs = json_object_get(j, "sections");
	assert_int_equal(json_array_size(secs), 8);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(secs, 3), "order")), 20);
	json_decref(j);

	struct tmpl *r = inst_ok(t, "{\"SubnetId\": \"s\"}");
	j = tmpl_params_json(r);
	json_array_foreach(json_object_get(j, "parameters"), i, x)
		if (!strcmp(json_string_value(json_object_get(x, "name")), "SubnetId"))
			assert_string_equal(json_string_value(json_object_get(x, "value")), "s");
	json_decref(j);
	tmpl_free(r);
	tmpl_free(t);
}

static void test_limits(void **state)
{
	struct tmpl *t = NULL;
	char *err = NULL;
	/* too large */
	size_t big = TMPL_MAX_TEXT + 1;
	char *text = malloc(big);
	assert_non_null(text);
	memset(text, '#', big);
	assert_int_equal(tmpl_parse(text, big, "big.txt", &t, &err), -E2BIG);
	assert_non_null(strstr(err, "larger than"));
	free(err);
	/* a line too long */
	memcpy(text, "[cluster a]\n", 12);
	memset(text + 12, 'x', TMPL_MAX_LINE + 10);
	assert_int_equal(tmpl_parse(text, 12 + TMPL_MAX_LINE + 10, "l.txt", &t, &err), -E2BIG);
	assert_string_equal(err, "l.txt:2: line longer than 65536 bytes");
	free(err);
	/* := nested too deep */
	size_t n = snprintf(text, big, "[cluster a]\n[[node x]]\nA := ");
	for (int i = 0; i < TMPL_MAX_DEPTH + 5; i++)
		text[n++] = '{';
	text[n++] = '\n';
	assert_int_equal(tmpl_parse(text, n, "d.txt", &t, &err), -E2BIG);
	assert_string_equal(err, "d.txt:3: value of 'A' nested deeper than 16");
	free(err);
	/* too many nodes */
	struct { char *data; size_t len; } b = { text, 0 };
	b.len = snprintf(b.data, big, "[cluster a]\n");
	for (int i = 0; i <= TMPL_MAX_NODES; i++)
		b.len += snprintf(b.data + b.len, big - b.len, "[[node n%d]]\n", i);
	assert_int_equal(tmpl_parse(b.data, b.len, "n.txt", &t, &err), -E2BIG);
	assert_string_equal(err, "n.txt:258: more than 256 nodes and node arrays");
	free(err);
	/* too many attributes in a section */
	b.len = snprintf(b.data, big, "[cluster a]\n[[node x]]\n");
	for (int i = 0; i <= TMPL_MAX_ATTRS; i++)
		b.len += snprintf(b.data + b.len, big - b.len, "k%d = 1\n", i);
	assert_int_equal(tmpl_parse(b.data, b.len, "a.txt", &t, &err), -E2BIG);
	assert_string_equal(err, "a.txt:1027: more than 1024 attributes in one section");
	free(err);
	/* too many once inherited: refused at instantiation */
	b.len = snprintf(b.data, big, "[cluster a]\n[[node defaults]]\n");
	for (int i = 0; i < 1000; i++)
		b.len += snprintf(b.data + b.len, big - b.len, "d%d = 1\n", i);
	b.len += snprintf(b.data + b.len, big - b.len, "[[node x]]\n");
	for (int i = 0; i < 100; i++)
		b.len += snprintf(b.data + b.len, big - b.len, "x%d = 1\n", i);
	assert_int_equal(tmpl_parse(b.data, b.len, "i.txt", &t, &err), 0);
	struct tmpl *ri = NULL;
	assert_int_equal(tmpl_instantiate(t, NULL, NULL, &ri, &err), -E2BIG);
	assert_null(ri);
	assert_string_equal(err, "i.txt:1003: 'x' has more than 1024 attributes with those it inherits");
	free(err);
	tmpl_free(t);
	/* a long Extends chain */
	b.len = snprintf(b.data, big, "[cluster a]\n");
	for (int i = 0; i < TMPL_MAX_EXTENDS + 2; i++)
		b.len += snprintf(b.data + b.len, big - b.len, "[[node n%d]]\nExtends = n%d\n", i, i + 1);
	b.len += snprintf(b.data + b.len, big - b.len, "[[node n%d]]\n", TMPL_MAX_EXTENDS + 2);
	assert_int_equal(tmpl_parse(b.data, b.len, "x.txt", &t, &err), -EINVAL);
	assert_string_equal(err, "x.txt:3: the Extends chain of 'n0' is longer than 8 or loops");
	free(err);
	/* a chain of exactly the limit is fine, and inherits through all of it */
	b.len = snprintf(b.data, big, "[cluster a]\n");
	for (int i = 0; i < TMPL_MAX_EXTENDS; i++)
		b.len += snprintf(b.data + b.len, big - b.len, "[[node n%d]]\nExtends = n%d\nA%d = %d\n",
		                  i, i + 1, i, i);
	b.len += snprintf(b.data + b.len, big - b.len, "[[node n%d]]\nTop = yes\n", TMPL_MAX_EXTENDS);
	assert_int_equal(tmpl_parse(b.data, b.len, "x.txt", &t, &err), 0);
	struct tmpl *r = NULL;
	assert_int_equal(tmpl_instantiate(t, NULL, NULL, &r, &err), 0);
	assert_string_equal(r->name, "a");
	assert_string_equal(sval(&tmpl_node_find(r, "n0")->attrs, "Top"), "yes");
	assert_int_equal(ival(&tmpl_node_find(r, "n0")->attrs, "A7"), 7);
	tmpl_free(r);
	tmpl_free(t);
	free(text);
}

/* The two templates shipped in templates/ parse and instantiate. */
static struct tmpl *load_shipped(const char *path)
{
	char *text = NULL;
	size_t len = 0;
	int rc = util_read_file(path, TMPL_MAX_TEXT, &text, &len);
	if (rc < 0)
		fail_msg("cannot read '%s': %s (run from the top of the tree)", path, strerror(-rc));
	struct tmpl *t = NULL;
	char *err = NULL;
	rc = tmpl_parse(text, len, path, &t, &err);
	free(text);
	if (rc < 0)
		fail_msg("%s", err);
	return t;
}

static void test_shipped_templates(void **state)
{
	struct tmpl *t = load_shipped("templates/stratusfs.txt");
	struct tmpl *r = inst_ok(t, "{\"OssBandwidthCap\": 50}");
	assert_string_equal(r->name, "demo");
	const struct tmpl_node *mds = tmpl_node_find(r, "mds");
	const struct tmpl_node *oss = tmpl_node_find(r, "oss");
	assert_non_null(mds);
	assert_non_null(oss);
	assert_false(mds->is_array);
	assert_true(oss->is_array);
	assert_string_equal(sval(&mds->config, "stratusfs.mountpoint"), "/lustre");
	assert_string_equal(sval(&mds->config, "stratusfs.role"), "mds");
	assert_true(json_is_true(tmpl_attr_value(&mds->config, "stratusfs.mds_serves_ost")));
	assert_int_equal(ival(&oss->config, "stratusfs.bandwidth_mibps"), 50);
	assert_int_equal(ival(&oss->config, "stratusfs.stripe_count"), 1);
	assert_string_equal(sval(&oss->config, "stratusfs.stripe_size"), "1m");
	assert_string_equal(sval(&oss->config, "stratusfs.role"), "oss");
	assert_int_equal(ival(&oss->attrs, "MaxCount"), 8);
	assert_int_equal(ival(&oss->attrs, "InitialCount"), 2);
	assert_string_equal(oss->inits[0].spec, "stratusfs:default:1.0.0");
	assert_string_equal(oss->inits[1].spec, "stratusfs:oss:1.0.0");
	tmpl_free(r);
	inst_bad(t, "{\"StripeCount\": -2}",
	         "templates/stratusfs.txt:82: parameter 'StripeCount' must be between -1 and 1024 "
	         "(Integer), not -2");
	r = inst_ok(t, "{\"StripeSize\": \"2m\", \"StripeCount\": -1, \"MountPoint\": \"/scratch\"}");
	assert_string_equal(sval(&tmpl_node_find(r, "oss")->config, "stratusfs.stripe_size"), "2m");
	tmpl_free(r);
	tmpl_free(t);

	t = load_shipped("templates/slurm.txt");
	inst_bad(t, NULL, "templates/slurm.txt:77: parameter 'StorageCluster' (Storage cluster) is "
	                  "required and has no default: give it a value");
	r = inst_ok(t, "{\"StorageCluster\": \"storage\", \"MaxExecuteNodes\": 4, \"IdleTime\": 30}");
	const struct tmpl_node *s = tmpl_node_find(r, "scheduler");
	const struct tmpl_node *x = tmpl_node_find(r, "execute");
	assert_false(s->is_array);
	assert_true(x->is_array);
	assert_int_equal(ival(&x->attrs, "MaxCount"), 4);
	assert_int_equal(ival(&s->config, "slurm.idle_time"), 30);
	assert_string_equal(sval(&x->config, "stratusfs.cluster"), "storage");
	assert_string_equal(sval(&x->config, "stratusfs.mountpoint"), "/lustre");
	assert_string_equal(sval(&x->config, "slurm.role"), "execute");
	assert_string_equal(sval(&x->config, "slurm.cluster_user"), "hpcuser");
	assert_int_equal(ival(&s->config, "slurm.cluster_uid"), 20001);
	assert_true(json_is_true(tmpl_attr_value(&x->config, "slurm.autoscale")));
	assert_true(json_is_true(tmpl_attr_value(&r->attrs, "Autoscale")));
	assert_int_equal(x->n_inits, 4);
	assert_string_equal(x->inits[0].spec, "slurm:default:1.0.0");
	assert_string_equal(x->inits[1].spec, "stratusfs:default:1.0.0");
	assert_string_equal(x->inits[2].spec, "stratusfs:client:1.0.0");
	assert_string_equal(x->inits[3].spec, "slurm:execute:1.0.0");
	tmpl_free(r);
	tmpl_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_slurm),
		cmocka_unit_test(test_instantiate_slurm),
		cmocka_unit_test(test_parameter_errors),
		cmocka_unit_test(test_bad_templates),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_expressions_and_builtin),
		cmocka_unit_test(test_lustre),
		cmocka_unit_test(test_params_json),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_shipped_templates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
