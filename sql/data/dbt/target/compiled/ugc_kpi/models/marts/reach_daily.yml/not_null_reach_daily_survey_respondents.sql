
    
    



select survey_respondents
from "warehouse"."marts"."reach_daily"
where survey_respondents is null


